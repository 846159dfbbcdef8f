import { describe, expect, it } from 'vitest';
import { IRunRecord } from '../../src/panel/api';
import {
  endNotice,
  INoticeOptions,
  INotifier,
  NoticeType,
  RunNotices
} from '../../src/panel/notices';

function rec(id: string, status: string, extra: Partial<IRunRecord> = {}): IRunRecord {
  return {
    id,
    experiment: 'e',
    name: `run-${id}`,
    status,
    created: 1,
    target: 'local',
    mode: 'generic',
    ranks: 2,
    stages: {},
    exit_codes: [1, -15],
    root_cause: {
      message: 'rank 0 (worker) on h exited with code 1: ValueError: bad shape',
      error: 'ValueError: bad shape',
      rank: 0
    },
    metrics: {},
    params: {},
    ended: 2,
    duration: 1,
    ...extra
  };
}

/** A notification center: what is on screen, and what was done to it. */
class FakeNotifier implements INotifier {
  shown = new Map<string, { message: string; type: NoticeType }>();
  log: string[] = [];
  private next = 0;
  emit(message: string, type: NoticeType, _options: INoticeOptions): string {
    const id = `n${this.next++}`;
    this.shown.set(id, { message, type });
    this.log.push(`emit ${id}`);
    return id;
  }
  update(id: string, message: string, type: NoticeType, _options: INoticeOptions): boolean {
    if (!this.shown.has(id)) return false;
    this.shown.set(id, { message, type });
    this.log.push(`update ${id}`);
    return true;
  }
  dismiss(id: string): void {
    this.shown.delete(id);
    this.log.push(`dismiss ${id}`);
  }
}

describe('end notifications', () => {
  it('say a failure by its exception first', () => {
    const n = endNotice(rec('a', 'Failed'));
    expect(n.type).toBe('error');
    expect(n.message).toBe(
      'Run "run-a" failed: ValueError: bad shape (rank 0 (worker) on h exited with code 1)'
    );
    expect(n.autoClose).toBe(false);
  });

  it('keep one notification per run: the same end heard again adds nothing', () => {
    const fake = new FakeNotifier();
    const notices = new RunNotices(fake);
    notices.ended(rec('a', 'Failed'), () => undefined);
    notices.ended(rec('a', 'Failed'), () => undefined);
    expect(fake.shown.size).toBe(1);
    // A different end of the same run replaces its notification in place.
    notices.ended(rec('a', 'Lost'), () => undefined);
    expect(fake.log).toEqual(['emit n0', 'update n0']);
    expect([...fake.shown.values()][0].type).toBe('warning');
  });

  it('keep at most three failures on screen, dismissing the oldest', () => {
    const fake = new FakeNotifier();
    const notices = new RunNotices(fake);
    for (const id of ['a', 'b', 'c', 'd', 'e']) notices.ended(rec(id, 'Failed'), () => undefined);
    notices.ended(rec('ok', 'Completed'), () => undefined);
    const messages = [...fake.shown.values()].map(n => n.message);
    expect(messages.filter(m => m.includes('failed'))).toEqual([
      expect.stringContaining('run-c'),
      expect.stringContaining('run-d'),
      expect.stringContaining('run-e')
    ]);
    expect(messages.filter(m => m.includes('completed'))).toHaveLength(1);
  });

  it('show a run again when the user dismissed its notification and it ends differently', () => {
    const fake = new FakeNotifier();
    const notices = new RunNotices(fake);
    notices.ended(rec('a', 'Canceled'), () => undefined);
    fake.dismiss('n0');
    notices.ended(rec('a', 'Failed'), () => undefined);
    expect(fake.shown.size).toBe(1);
    expect([...fake.shown.values()][0].type).toBe('error');
  });
});
