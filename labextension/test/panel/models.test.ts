import { describe, expect, it } from 'vitest';
import { groupModels, matchesModel, pairsText, servicesOf } from '../../src/panel/models';
import type { IModelVersion, IService } from '../../src/panel/modelsapi';

function version(name: string, v: number, extra: Partial<IModelVersion> = {}): IModelVersion {
  return {
    name,
    version: v,
    created: 1700000000 + v,
    root: 'model',
    run_id: `run-${name}-${v}`,
    framework: 'torchscript',
    framework_version: '2.5.0',
    description: '',
    tags: {},
    files: {},
    source: {
      run: { id: `run-${name}-${v}`, name: `train-${name}`, experiment: 'e', status: 'Completed' }
    },
    aliases: [],
    size: 10,
    ...extra
  };
}

function service(name: string, v: number, id: string): IService {
  return {
    id,
    name,
    version: v,
    url: 'http://127.0.0.1:9',
    pid: 1,
    started: 0,
    host: '127.0.0.1',
    port: 9
  };
}

describe('groupModels', () => {
  it('groups versions by name, names sorted, newest version first', () => {
    const groups = groupModels([
      version('b', 1),
      version('a', 1),
      version('b', 3),
      version('b', 2)
    ]);
    expect(groups.map(g => [g.name, g.versions.map(m => m.version)])).toEqual([
      ['a', [1]],
      ['b', [3, 2, 1]]
    ]);
  });

  it('gives no groups for no models', () => {
    expect(groupModels([])).toEqual([]);
  });
});

describe('servicesOf', () => {
  it('keeps the services of exactly that name and version', () => {
    const all = [service('a', 1, 's1'), service('a', 2, 's2'), service('b', 1, 's3')];
    expect(servicesOf(all, 'a', 1).map(s => s.id)).toEqual(['s1']);
    expect(servicesOf(all, 'c', 1)).toEqual([]);
  });
});

describe('pairsText', () => {
  it('writes k=v in key order, JSON for non-strings', () => {
    expect(pairsText({ lr: 0.1, team: 'ml', a: [1, 2] })).toBe('a=[1,2], lr=0.1, team=ml');
    expect(pairsText(null)).toBe('');
  });
});

describe('matchesModel', () => {
  const m = version('digits', 2, { aliases: ['champion'], tags: { team: 'vision' } });

  it('matches every word against name, name:version, @alias, tags, framework and run', () => {
    expect(matchesModel(m, '')).toBe(true);
    expect(matchesModel(m, 'DIGITS')).toBe(true);
    expect(matchesModel(m, 'digits:2')).toBe(true);
    expect(matchesModel(m, '@champion')).toBe(true);
    expect(matchesModel(m, 'team=vision torchscript')).toBe(true);
    expect(matchesModel(m, 'train-digits')).toBe(true);
    expect(matchesModel(m, 'digits @prod')).toBe(false);
    expect(matchesModel(m, 'digits:1')).toBe(false);
  });
});
