.data.households.nodes | map({code, village, township, v: (.verification | if . then {status, path} else null end)})
