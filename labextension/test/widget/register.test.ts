import { describe, expect, it } from 'vitest';
import { defaultModelPath } from '../../src/widget/register';

describe('defaultModelPath', () => {
  it('is outputs/model when the run wrote a model folder or file', () => {
    expect(defaultModelPath([{ path: 'model/weights.pt', size: 1 }, { path: 'log.txt' }])).toBe(
      'outputs/model'
    );
    expect(defaultModelPath([{ path: 'model', size: 1 }])).toBe('outputs/model');
  });

  it('is all of outputs otherwise, and survives a bad trait value', () => {
    expect(defaultModelPath([{ path: 'models.txt' }])).toBe('outputs');
    expect(defaultModelPath(null)).toBe('outputs');
  });
});
