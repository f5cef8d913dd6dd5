# SoulBox bash context driver: one persistent bash runs every cell; state
# (variables, functions, cwd) stays. Requests arrive on stdin, one JSON object
# per line, decoded by python3 into: the id, then the code base64-encoded.
# Events leave on fd 9 (the original stdout), one JSON object per line.
exec 9>&1 8<&0
exec 0</dev/null
__sb_count=0
# An interrupt (SIGINT to the group) ends the running cell, not this shell:
# the cell runs in a function whose trap returns from it. (A `declare`
# without -g in a cell is therefore local to that cell.)
trap ':' INT
__sb_cell() { trap 'trap : INT; return 130' INT; eval "$1"; }
__sb_emit() { printf '%s\n' "$1" >&9; }
__sb_json() { /usr/bin/python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }
__sb_emit '{"type":"ready","pid":'$$'}'
while IFS= read -r __sb_line <&8; do
    __sb_req=$(printf '%s' "$__sb_line" | /usr/bin/python3 -c 'import base64,json,sys
r=json.loads(sys.stdin.read()); print(int(r.get("id",0))); print(base64.b64encode(r.get("code","").encode()).decode())' 2>/dev/null) || continue
    __sb_id=${__sb_req%%$'\n'*}
    __sb_code=$(printf '%s' "${__sb_req#*$'\n'}" | base64 -d)
    __sb_count=$((__sb_count + 1))
    __sb_out=$(mktemp) __sb_err=$(mktemp)
    __sb_cell "$__sb_code" >"$__sb_out" 2>"$__sb_err" </dev/null
    __sb_rc=$?
    trap ':' INT
    if [ -s "$__sb_out" ]; then
        __sb_emit '{"id":'$__sb_id',"type":"stdout","text":'"$(__sb_json <"$__sb_out")"'}'
    fi
    if [ -s "$__sb_err" ]; then
        __sb_emit '{"id":'$__sb_id',"type":"stderr","text":'"$(__sb_json <"$__sb_err")"'}'
    fi
    rm -f "$__sb_out" "$__sb_err"
    if [ "$__sb_rc" != 0 ]; then
        __sb_emit '{"id":'$__sb_id',"type":"error","name":"ExitCode","value":"'$__sb_rc'","traceback":"exit status '$__sb_rc'"}'
    fi
    __sb_emit '{"id":'$__sb_id',"type":"end","execution_count":'$__sb_count'}'
done
