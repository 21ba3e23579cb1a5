# record_platform_digests INDEX REPOSITORY: appends one "<os/arch[/variant]> REPOSITORY@<manifest digest>" line per
# platform the image index (or manifest list) in the file INDEX references to the termination message, in the index's
# order. Entries without a platform, or unknown/unknown (attestations), are left out. The first token has no "@", so a
# reader matching "<reference>@sha256:<hex>" lines sees none of these.
record_platform_digests() {
  # a JSON scanner for one document: strings (with escapes), objects and arrays; every other token is skipped.
  # Prints "<platform> <digest>" for each object in the top-level "manifests" array.
  platform_digests=$(awk '
    function finish() {
      if (os == "" && arch == "") return
      if (os == "unknown" && arch == "unknown") return
      platform = os "/" arch (variant == "" ? "" : "/" variant)
      if (platform !~ /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/ || digest !~ /^sha256:[0-9a-f]+$/ || length(digest) != 71) {
        printf "malformed index entry: platform \"%s\", digest \"%s\"\n", platform, digest > "/dev/stderr"
        failed = 1
        return
      }
      print platform, digest
    }
    { doc = doc $0 "\n" }
    END {
      depth = 0
      n = length(doc)
      for (i = 1; i <= n; i++) {
        c = substr(doc, i, 1)
        if (c == "\"") {
          s = ""
          for (i++; i <= n; i++) {
            c = substr(doc, i, 1)
            if (c == "\\") { s = s c substr(doc, i + 1, 1); i++; continue }
            if (c == "\"") break
            s = s c
          }
          if (kind[depth] == "o" && wants_key[depth]) { key[depth] = s; wants_key[depth] = 0; continue }
          entry = depth >= 3 && key[1] == "manifests" && kind[2] == "a"
          if (entry && depth == 3 && key[3] == "digest") digest = s
          if (entry && depth == 4 && key[3] == "platform") {
            if (key[4] == "os") os = s
            if (key[4] == "architecture") arch = s
            if (key[4] == "variant") variant = s
          }
        } else if (c == "{" || c == "[") {
          depth++
          kind[depth] = c == "{" ? "o" : "a"
          wants_key[depth] = c == "{"
          key[depth] = ""
          if (depth == 3 && key[1] == "manifests" && kind[2] == "a") { digest = ""; os = ""; arch = ""; variant = "" }
        } else if (c == "}" || c == "]") {
          if (depth == 3 && key[1] == "manifests" && kind[2] == "a") finish()
          depth--
        } else if (c == ",") {
          if (kind[depth] == "o") wants_key[depth] = 1
        }
      }
      if (depth != 0) { print "unbalanced JSON" > "/dev/stderr"; failed = 1 }
      exit failed
    }
  ' "$1") || die "cannot read the platforms of the image index in $1 (message above)"
  [ -n "$platform_digests" ] || die "the image index in $1 lists no platform"
  printf '%s\n' "$platform_digests" | while read -r platform manifest_digest; do
    printf '%s %s@%s\n' "$platform" "$2" "$manifest_digest" >>"$termination_log"
  done
}
