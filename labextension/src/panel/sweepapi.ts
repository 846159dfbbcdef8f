// The sweep routes of the REST API (jupyter_mltrain/server/sweeps.py).
import { ISweepMark } from '../common/sweep/nest';
import { MLTrainAPI } from './api';

/** A sweep as `GET sweeps` lists it. */
export interface ISweepListed {
  id: string;
  name: string;
  status: string;
  parent: string | null;
  drivers?: string[];
  trials?: { trial: number; run: string }[];
}

/** Every sweep, newest first. */
export async function listSweeps(api: MLTrainAPI): Promise<ISweepListed[]> {
  const r = await api.request<{ sweeps: ISweepListed[] }>('sweeps', { method: 'GET' });
  return r.sweeps ?? [];
}

/** One sweep's record (with its trials' curves when `curves`). */
export function getSweep(api: MLTrainAPI, id: string, curves: boolean): Promise<unknown> {
  return api.request<unknown>(
    `sweeps/${encodeURIComponent(id)}`,
    { method: 'GET' },
    curves ? { curves: 1 } : {}
  );
}

/** Cancel a sweep: its driver stops every running trial. */
export function cancelSweep(api: MLTrainAPI, id: string): Promise<{ canceled: boolean }> {
  return api.request<{ canceled: boolean }>(`sweeps/${encodeURIComponent(id)}`, {
    method: 'DELETE'
  });
}

/** Which run is whose, from the sweeps listed: run id → its sweep and role. */
export function marksOf(sweeps: readonly ISweepListed[]): Map<string, ISweepMark> {
  const marks = new Map<string, ISweepMark>();
  for (const s of sweeps) {
    for (const t of s.trials ?? []) marks.set(t.run, { id: s.id, role: 'trial', trial: t.trial });
    for (const d of s.drivers ?? (s.parent ? [s.parent] : []))
      marks.set(d, { id: s.id, role: 'driver', trial: null });
  }
  return marks;
}
