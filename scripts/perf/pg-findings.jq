.data.householdsList | map({code, f: (.findingsList | sort_by(.rule, .severity))})
