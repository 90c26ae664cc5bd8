.data | [{households: .households.totalCount},
  {status: (.verifications.byStatus | map({key: .keys[0], n: (.distinctCount.id | tonumber)}) | sort_by(.key))},
  {path: (.verifications.byPath | map(select(.keys[0] != null) | {key: .keys[0], n: (.distinctCount.id | tonumber)}) | sort_by(.key))}]
