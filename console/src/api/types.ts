// Shapes of what the API answers (its OpenAPI document types request bodies and
// parameters; most answers are documented as objects, narrowed here).

export interface OrgSummary {
  id: string;
  name: string;
  region: string;
  role?: string;
  memberType?: string;
  country?: string;
}

export interface Me {
  email: string;
  name?: string | null;
  issuer: string;
  organisations: OrgSummary[];
}

export interface Org {
  id: string;
  name: string;
  region: string;
  country?: string;
  createdAt?: string;
  you: { kind: string; id: string; role: string | null; memberType: string | null; scopes: string[]; allowed: string[] };
}

export interface Page<T> {
  items: T[];
  continuation?: string | null;
}

export interface Member {
  id: string;
  email: string;
  role: string;
  memberType: string;
  status: string;
  addedAt?: string;
}

export interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  prefix?: string;
  createdAt?: string;
  revokedAt?: string | null;
  lastUsedAt?: string | null;
  key?: string;
}

export interface Connector {
  id: string;
  kind: string;
  name: string;
  connection: Record<string, unknown>;
  secretFields: string[];
  createdAt?: string;
  updatedAt?: string;
}

export interface ConnectorTest {
  status: string;
  message?: string | null;
  account?: Record<string, unknown> | null;
  testedAt: string;
}

export interface Container {
  id: string;
  name: string;
  kind: string;
  parentId?: string | null;
}

export interface Migration {
  id: string;
  name: string;
  sourceConnectorId: string;
  destinationConnectorId: string;
  scopes: { id: string; name?: string | null }[];
  destinationWorkspace?: string | null;
  userMapping?: { emails: Record<string, string>; fallback?: string | null };
  labelMapping?: Record<string, string>;
  statusMapping?: Record<string, string>;
  verifyAfterRun?: boolean;
  createdAt?: string;
  lastRunId?: string | null;
}

export interface Run {
  id: string;
  migrationId: string;
  mode: string;
  status: string;
  statusReason?: string | null;
  createdAt?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  counts: Record<string, Record<string, number>>;
  throughput?: { items: number; seconds: number; itemsPerMinute: number | null };
  eta?: { seconds: number | null; basis: string; [k: string]: unknown };
}

export interface ReportRow {
  kind: string;
  sourceId: string;
  destinationId?: string | null;
  action: string;
  reason?: string | null;
  adaptations: string[];
  scope?: string | null;
}

export interface LogLine {
  id: string;
  time: string;
  level: string;
  event: string;
  kind?: string;
  sourceId?: string;
  destId?: string;
  code?: string;
  message?: string;
  [k: string]: unknown;
}

export interface AuditEvent {
  id: string;
  at: string;
  action: string;
  actor: string;
  target?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown> | null;
}

export const FINAL_STATUSES = ["succeeded", "partially_succeeded", "failed", "cancelled"];
