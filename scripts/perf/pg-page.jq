.data.households.nodes | map({code, village, township, v: (.verificationsList[0] // null)})
