// The newest sequence number of a history: the highest of versions, Event occurrences and the
// counter kept in meta (which survives retention removing the newest records' rows).
export const HEAD_SEQ_SQL = `SELECT max(coalesce((SELECT max(seq) FROM versions), 0),
  coalesce((SELECT max(seq) FROM event_occurrences), 0),
  coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'seq'), 0)) AS seq`;
