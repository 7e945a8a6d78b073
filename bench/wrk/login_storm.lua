-- wrk script for bench/login_storm.sh: a storm of staff logins (POST /login) from many client
-- addresses (X-Forwarded-For, the server runs with --trust-proxy as behind nginx), spread over
-- many accounts so that neither the per-IP nor the per-account lockout turns the storm into
-- cheap refusals: every attempt costs the server its argon2id hash.
--
--   wrk ... -s login_storm.lua URL -- CSRF_TOKEN ACCOUNTS RIGHT_PASSWORD
--
-- Accounts are bench0001 … benchNNNN (bench/login_storm.sh creates them). Of the attempts, 50 %
-- use the right password, 40 % a wrong one, 10 % a login that does not exist. At the end one
-- line is printed: ZW_STORM requests=… rps=… ok=… wrong=… blocked=… busy=… other=…
local csrf, accounts, right
counts = { ok = 0, wrong = 0, blocked = 0, busy = 0, other = 0 }
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  csrf = args[1]
  accounts = tonumber(args[2])
  right = args[3]
  math.randomseed(os.time() + (id or 1) * 7919)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  local r = math.random()
  local login, password
  if r < 0.1 then
    login = string.format("nobody%05d", math.random(1, 99999))
    password = right
  else
    login = string.format("bench%04d", math.random(1, accounts))
    password = (r < 0.6) and right or (right .. "x")
  end
  local body = "_csrf=" .. urlencode(csrf) .. "&kind=staff&login=" .. login ..
               "&password=" .. urlencode(password)
  local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255),
                           math.random(1, 254))
  return wrk.format("POST", "/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "zw_csrf=" .. csrf,
    ["X-Forwarded-For"] = ip,
  }, body)
end

function response(status, headers, body)
  if status == 303 then
    counts.ok = counts.ok + 1
  elseif status == 422 then
    counts.wrong = counts.wrong + 1
  elseif status == 429 then
    counts.blocked = counts.blocked + 1
  elseif status == 503 then
    counts.busy = counts.busy + 1
  else
    counts.other = counts.other + 1
  end
end

function done(summary, latency, requests)
  local total = { ok = 0, wrong = 0, blocked = 0, busy = 0, other = 0 }
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = total[k] + v end
  end
  io.write(string.format(
    "ZW_STORM requests=%d rps=%.2f p50_ms=%.0f p99_ms=%.0f ok=%d wrong=%d blocked=%d busy=%d " ..
    "other=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    total.ok, total.wrong, total.blocked, total.busy, total.other,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
