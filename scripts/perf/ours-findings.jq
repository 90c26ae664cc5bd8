.data.households.nodes | map({code, f: (.findings | sort_by(.rule, .severity))})
