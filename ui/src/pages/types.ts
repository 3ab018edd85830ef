// The API's shapes the pages read (fields as the operation table answers them).

export interface Experiment { id: string; name: string; description: string; tags: Record<string, string>; created_at: number; }
export interface Run {
  id: string; experiment_id: string; name: string; status: string; user: string; start_time: number; end_time: number | null;
  parent_run_id: string | null; source: Record<string, unknown>; params: Record<string, string>; metrics: Record<string, number>;
  tags: Record<string, string>; inputs: { dataset_version_id: string; dataset: string; version: number; sha256: string; context: string }[];
}
export interface Artifact { path: string; sha256: string; size: number; }
export interface Route { model: string; version: number; role: string; weight: number; alias: string | null; name: string; }
export interface Revision {
  id: string; endpoint: string; revision: number; routes: Route[]; rollout_state: string; reason: string; parent_revision: number | null;
  restored_from: number | null; compiled: Record<string, { status: string; reason: string; parity?: Record<string, unknown> }>; created_by: string; created_at: number;
}
export interface Deployment { id: string; name: string; description: string; current_revision: number; created_at: number; updated_at: number; current: Revision; }
export interface Alert {
  id: string; monitor: string; endpoint: string; state: string; severity: string; value: number | null; threshold: number; message: string;
  started_at: number; fired_at: number | null; resolved_at: number | null; updated_at: number; notifications: { notifier: string; event: string; at: number; ok: boolean }[];
}
export interface Monitor {
  id: string; name: string; endpoint: string; metric: string; window_s: number; schedule_s: number; comparison: string; threshold: number;
  severity: string; enabled: boolean; description: string; last_evaluated_at: number | null;
}
export interface Check { id: string; evaluated_at: number; window_start: number; window_end: number; value: number | null; threshold: number; status: string; details: Record<string, unknown>; }
export interface Model { id: string; name: string; description: string; tags: Record<string, string>; latest_version: number; aliases: Record<string, number>; updated_at: number; }
export interface ModelVersion {
  id: string; name: string; version: number; source: string; run_id: string | null; flavor: string; signature: Record<string, unknown> | null;
  files: { path: string; sha256: string; size: number }[]; description: string; tags: Record<string, string>; approval: string; created_by: string; created_at: number;
  aliases: string[]; reference_dataset_version_id: string | null;
}
export interface Dataset { id: string; name: string; description: string; latest_version: number; created_at: number; }
export interface ProfileColumn {
  name: string; type: string; kind: string; count: number; nulls: number; null_fraction: number; min?: number; max?: number; mean?: number; std?: number;
  quantiles?: Record<string, number>; histogram?: { edges: number[]; counts: number[] }; top?: { value: string; count: number }[]; distinct?: number;
  [key: string]: unknown;
}
export interface DatasetVersion {
  id: string; name: string; version: number; sha256: string; num_rows: number; num_bytes: number; created_at?: number;
  schema: { name: string; type: string; nullable: boolean }[]; profile: { num_rows: number; columns: ProfileColumn[] } | null;
  checks: { passed: boolean; results?: Record<string, unknown>[]; [key: string]: unknown } | null; [key: string]: unknown;
}
export interface AuditEvent { seq: number; id: string; created: number; actor: string; action: string; object_type: string; object_id: string; details: Record<string, unknown>; hash: string; }
export interface PipelineRun { id: string; pipeline: string; status: string; started_at?: number; finished_at?: number | null; [key: string]: unknown; }
