# Statuses of saved records only (NOT_STARTED is what PostGraphile cannot count: no row).
.data.progress | [{households},
  {status: (.byStatus | map(select(.count > 0 and .status != "NOT_STARTED") | {key: .status, n: .count}) | sort_by(.key))},
  {path: (.byPath | map(select(.count > 0) | {key: .path, n: .count}) | sort_by(.key))}]
