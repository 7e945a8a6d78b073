-- wrk script: creates cases through the JSON API (POST /api/v1/cases), one new applicant per
-- request: a valid 18-digit ID-card number (北流市 region code, a birth date and a sequence, with
-- the GB 11643 check digit), a mobile number and a name, all derived from a counter, so no two
-- requests of a run (or of runs with different ZW_BENCH_OFFSET) share an applicant. Every request
-- carries its own Idempotency-Key, as a careful client's would.
--
-- Environment: ZW_BENCH_TOKEN (API token), ZW_BENCH_SERVICE (service code), ZW_BENCH_VILLAGE
-- (village unit id), ZW_BENCH_CHANNEL (default "window"), ZW_BENCH_OFFSET (counter start, default
-- 0; give each run in one database its own multiple of 10000000; each wrk thread counts on from
-- offset + thread number x 1000000).
-- At the end prints the ZW_RESULT line of report.lua plus created=N (201 answers) and other=N.

local script_dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(script_dir .. "report.lua")
local report_done = done

local token = os.getenv("ZW_BENCH_TOKEN") or error("ZW_BENCH_TOKEN is not set")
local service = os.getenv("ZW_BENCH_SERVICE") or error("ZW_BENCH_SERVICE is not set")
local village = tonumber(os.getenv("ZW_BENCH_VILLAGE") or error("ZW_BENCH_VILLAGE is not set"))
local channel = os.getenv("ZW_BENCH_CHANNEL") or "window"
local offset = tonumber(os.getenv("ZW_BENCH_OFFSET") or "0")

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local weights = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
local check_chars = { "1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2" }

-- Region codes of 玉林市's counties: 12400 birth days x 999 sequences each, 86 million numbers.
local regions = { "450981", "450921", "450922", "450923", "450924", "450902", "450903" }
local per_region = 12400 * 999

-- The ID-card number for counter n: region + birth date (from 1971-01-01 on) + sequence 001-999.
local function id_card(n)
  local region = regions[math.floor(n / per_region) % #regions + 1]
  local m = n % per_region
  local seq = m % 999 + 1
  local birth = os.date("!%Y%m%d", 31536000 + math.floor(m / 999) * 86400)
  local body = string.format("%s%s%03d", region, birth, seq)
  local sum = 0
  for i = 1, 17 do
    sum = sum + tonumber(body:sub(i, i)) * weights[i]
  end
  return body .. check_chars[sum % 11 + 1]
end

local surnames = { "黄", "李", "陈", "梁", "刘", "何", "覃", "韦", "莫", "张", "钟", "庞" }
local given = { "秀英", "桂兰", "志强", "海燕", "建国", "丽华", "文彬", "春梅", "永福", "玉珍",
  "国荣", "美玲", "德明", "小燕", "家豪" }

-- Globals, so that done() can read them from each thread.
counter = 0
created = 0
other = 0

function init(args)
  counter = offset + (thread_id or 0) * 1000000
end

function request()
  local n = counter
  counter = counter + 1
  local name = surnames[n % #surnames + 1] .. given[math.floor(n / #surnames) % #given + 1]
  local body = string.format(
    '{"service_code":"%s","channel":"%s","name":"%s","id_card":"%s","phone":"139%08d",' ..
    '"village_id":%d,"address":"示例一村 %d 组","description":"压测申请 %d"}',
    service, channel, name, id_card(n), n % 100000000, village, n % 12 + 1, n)
  return wrk.format("POST", "/api/v1/cases", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d-%012d", offset, n),
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    if other <= 3 then
      io.stderr:write(string.format("create_cases.lua: HTTP %d: %s\n", status, body:sub(1, 300)))
    end
  end
end

function done(summary, latency, requests)
  report_done(summary, latency, requests)
  local c, o = 0, 0
  for _, thread in ipairs(threads) do
    c = c + (tonumber(thread:get("created")) or 0)
    o = o + (tonumber(thread:get("other")) or 0)
  end
  io.write(string.format("ZW_CASES created=%d other=%d\n", c, o))
end
