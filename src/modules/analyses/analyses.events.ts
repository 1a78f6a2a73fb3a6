/**
 * The seeds' AnalysisProgressPayload (eventType and timestamp are added by
 * RealtimeService). Ids are numbers, as REST sends them (docs/seeds.md: one
 * id representation on every transport).
 */
export interface AnalysisProgressPayload {
  projectId: number;
  analysisId: number;
  currentStation: number;
  totalStations: number;
  stationName: string;
  progress: number;
  logs?: string[];
}

/** What queue:work receives for an analysis (typed job payload, handled by AnalysisJobHandler). */
export interface AnalysisJob {
  analysisId: number;
  projectId: number;
  /** The owner: job:* events also go to user:<userId>. */
  userId: number;
  stations: number;
}

export const ANALYSIS_JOB = 'analysis';

const STATION_NAMES = ['ingest', 'validate', 'normalise', 'correlate', 'score', 'report'];
export const stationName = (n: number) => `${n}:${STATION_NAMES[(n - 1) % STATION_NAMES.length]}`;
