.data.regions | map({code, n: .households.totalCount})
