
: >"$termination_log"
promote_image
