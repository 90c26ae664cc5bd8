.data.regionsList | map({code, n: .householdsByTownshipId.totalCount})
