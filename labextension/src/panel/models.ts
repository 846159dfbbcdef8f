// Pure helpers of the Models view: versions grouped by name, services by version, labels.
import type { IModelVersion, IService } from './modelsapi';

/** One model name and its versions, newest first. */
export interface IModelGroup {
  name: string;
  versions: IModelVersion[];
}

/** Versions grouped by model name (names sorted), each group newest version first. */
export function groupModels(models: readonly IModelVersion[]): IModelGroup[] {
  const byName = new Map<string, IModelVersion[]>();
  for (const m of models) {
    const list = byName.get(m.name);
    if (list) list.push(m);
    else byName.set(m.name, [m]);
  }
  return [...byName.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([name, versions]) => ({
      name,
      versions: versions.sort((a, b) => b.version - a.version)
    }));
}

/** The live services of one version. */
export function servicesOf(
  services: readonly IService[],
  name: string,
  version: number
): IService[] {
  return services.filter(s => s.name === name && s.version === version);
}

/** `k=v, k2=v2` of tags or params, in key order ('' when none). */
export function pairsText(values: Record<string, unknown> | undefined | null): string {
  return Object.entries(values ?? {})
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/** Whether a model version or service matches the filter text (name, alias, tag, framework, run). */
export function matchesModel(m: IModelVersion, filter: string): boolean {
  const q = filter.trim().toLowerCase();
  if (!q) return true;
  const hay = [
    m.name,
    `${m.name}:${m.version}`,
    ...m.aliases.map(a => `@${a}`),
    m.framework ?? '',
    m.run_id ?? '',
    m.source?.run?.name ?? '',
    pairsText(m.tags)
  ]
    .join(' ')
    .toLowerCase();
  return q.split(/\s+/).every(word => hay.includes(word));
}
