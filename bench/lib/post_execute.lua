-- wrk script: POST /api/execute with a trivial program (BODY env overrides).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY") or '{"language":"python","code":"print(1)"}'

function response(status, headers, body)
  if status ~= 200 or not body:find('"status":"ok"', 1, true) then
    io.stderr:write("unexpected response " .. status .. ": " .. body:sub(1, 200) .. "\n")
  end
end
