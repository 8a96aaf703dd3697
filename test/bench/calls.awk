# Each plugin call's mean duration, from ovn-docker debug log lines on
# stdin (call=/NetworkDriver.X or /IpamDriver.X took=D; the IPAM calls
# come from networks with --ipam-driver openvswitch). Used by the
# docker-run scripts.
match($0, /call=\/(NetworkDriver|IpamDriver)\.[A-Za-z]+ took=[^ ]+/) {
  split(substr($0, RSTART, RLENGTH), f, " ")
  split(f[1], c, ".")
  t = f[2]; sub(/took=/, "", t); gsub(/"/, "", t)
  if (t ~ /µs$/) { sub(/µs/, "", t); v = t / 1000 }
  else if (t ~ /ms$/) { sub(/ms/, "", t); v = t }
  else { sub(/s$/, "", t); v = t * 1000 }
  s[c[2]] += v; n[c[2]]++
}
END { for (k in s) printf "  plugin %-16s mean %6.2f ms (n=%d)\n", k, s[k] / n[k], n[k] }
