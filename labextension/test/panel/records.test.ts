import { describe, expect, it } from 'vitest';
import { IRunRecord } from '../../src/panel/api';
import { runDuration } from '../../src/panel/format';
import { formatKeyValues, parseKeyValues } from '../../src/panel/kv';
import {
  groupByExperiment,
  matchesFilter,
  parseTags,
  rootCauseHeadline,
  timeline
} from '../../src/panel/records';
import { buildRequest, DEFAULT_VALUES } from '../../src/panel/formvalues';

function run(over: Partial<IRunRecord>): IRunRecord {
  return {
    id: '20260101-000000-abcdef',
    experiment: 'default',
    name: 'mnist-ddp',
    status: 'Running',
    created: 100,
    target: 'local',
    mode: 'torch',
    ranks: 4,
    stages: { Queued: 100, Preparing: 101, Running: 103 },
    exit_codes: [],
    root_cause: null,
    metrics: {},
    params: {},
    ended: null,
    duration: null,
    ...over
  };
}

describe('panel filter', () => {
  it('matches words anywhere and key:value on that field', () => {
    const r = run({});
    expect(matchesFilter(r, '')).toBe(true);
    expect(matchesFilter(r, 'MNIST')).toBe(true);
    expect(matchesFilter(r, 'mnist abcdef')).toBe(true);
    expect(matchesFilter(r, 'mnist cifar')).toBe(false);
    expect(matchesFilter(r, 'status:running')).toBe(true);
    expect(matchesFilter(r, 'status:failed')).toBe(false);
    expect(matchesFilter(r, 'target:loc mode:torch')).toBe(true);
    expect(matchesFilter(r, 'nokey:x')).toBe(false);
  });

  it('groups by experiment, the group with the newest run first', () => {
    const g = groupByExperiment([
      run({ id: 'a', experiment: 'x', created: 1 }),
      run({ id: 'b', experiment: 'y', created: 5 }),
      run({ id: 'c', experiment: 'x', created: 3 }),
      run({ id: 'd', experiment: '', created: 2 })
    ]);
    expect(g.map(([e, rs]) => [e, rs.map(r => r.id)])).toEqual([
      ['y', ['b']],
      ['x', ['c', 'a']],
      ['default', ['d']]
    ]);
  });
});

describe('stage timeline', () => {
  it("shows a restarted run's later attempts in time order", () => {
    const t = timeline(
      run({
        status: 'Running',
        stages: { Queued: 100, Preparing: 101, Running: 102, 'Running (attempt 2)': 110 }
      }),
      120
    );
    expect(t.map(s => [s.stage, s.duration])).toEqual([
      ['Queued', 1],
      ['Preparing', 1],
      ['Running', 8],
      ['Running (attempt 2)', 10]
    ]);
  });

  it('gives each reached stage its duration; the current one runs to now', () => {
    const t = timeline(run({}), 110);
    expect(t.map(s => [s.stage, s.duration, s.current])).toEqual([
      ['Queued', 1, false],
      ['Preparing', 2, false],
      ['Running', 7, true]
    ]);
  });

  it('ends with the final status', () => {
    const t = timeline(
      run({ status: 'Failed', stages: { Queued: 100, Running: 102, Failed: 150 }, ended: 150 }),
      999
    );
    expect(t.map(s => [s.stage, s.duration, s.current])).toEqual([
      ['Queued', 2, false],
      ['Running', 48, false],
      ['Failed', null, true]
    ]);
  });

  it('names the failing rank, host and exit code or signal', () => {
    expect(rootCauseHeadline({ message: 'x', rank: 1, host: 'gpu2', exit_code: 1 })).toBe(
      'Rank 1 on gpu2 exited with code 1'
    );
    expect(rootCauseHeadline({ message: 'x', rank: 0, signal: 9, exit_code: -9 })).toBe(
      'Rank 0 was killed by SIGKILL (9)'
    );
    expect(rootCauseHeadline({ message: 'x' })).toBe('');
  });
});

describe('run duration', () => {
  it('measures a live run to now and an ended one to its end', () => {
    expect(runDuration(run({}), 110)).toBe(7);
    expect(runDuration(run({ status: 'Completed', ended: 120 }), 999)).toBe(17);
  });
});

describe('K=V lines', () => {
  it('parses, skips comments and blanks, reports bad lines', () => {
    const r = parseKeyValues(
      'lr = 0.01\n\n# comment\nname=a=b\nbad line\n1x=2\nepochs=3\nepochs=4'
    );
    expect(r.values).toEqual({ lr: '0.01', name: 'a=b', epochs: '4' });
    expect(r.errors).toEqual([
      'line 5: "bad line" is not K=V',
      'line 6: "1x" is not a valid name (letters, digits, _)'
    ]);
    expect(formatKeyValues({ a: 1, b: 'x' })).toBe('a=1\nb=x');
  });

  it('builds the submit body of the train form', () => {
    const body = buildRequest(
      {
        ...DEFAULT_VALUES,
        np: 2,
        mode: 'tf-ps',
        workers: 3,
        ps: 1,
        name: ' n ',
        params: 'lr=0.1',
        env: 'A=1'
      },
      'dir/nb.ipynb',
      { cells: [] }
    );
    expect(body).toEqual({
      kind: 'notebook',
      path: 'dir/nb.ipynb',
      content: { cells: [] },
      target: 'local',
      np: 2,
      nodes: 1,
      mode: 'tf-ps',
      workers: 3,
      ps: 1,
      name: 'n',
      experiment: 'default',
      params: { lr: '0.1' },
      env: { A: '1' }
    });
    expect(() => buildRequest({ ...DEFAULT_VALUES, np: 0 }, 'a.ipynb', undefined)).toThrow(
      /Processes/
    );
    expect(() => buildRequest({ ...DEFAULT_VALUES, params: 'oops' }, 'a.ipynb', undefined)).toThrow(
      /Parameters/
    );
    expect(buildRequest(DEFAULT_VALUES, 'a.ipynb', undefined)).not.toHaveProperty('content');
  });
});

describe('matchesFilter with tags and notes', () => {
  const run = {
    id: 'r1',
    name: 'resnet',
    experiment: 'e',
    target: 'local',
    status: 'Completed',
    tags: ['baseline', 'lr-sweep'],
    note: 'Best so far on CIFAR'
  } as unknown as IRunRecord;

  it('finds a run by a tag, tag:word, or a word of its note', () => {
    expect(matchesFilter(run, 'baseline')).toBe(true);
    expect(matchesFilter(run, 'tag:lr-')).toBe(true);
    expect(matchesFilter(run, 'tag:other')).toBe(false);
    expect(matchesFilter(run, 'cifar resnet')).toBe(true);
    expect(matchesFilter({ ...run, tags: undefined, note: undefined }, 'tag:baseline')).toBe(false);
  });
});

describe('parseTags', () => {
  it('splits on commas and new lines, trims, and drops empty and repeated tags', () => {
    expect(parseTags(' baseline, lr-sweep,\nbaseline ,, ')).toEqual(['baseline', 'lr-sweep']);
    expect(parseTags('')).toEqual([]);
  });
});
