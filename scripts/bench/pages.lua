-- wrk script for scripts/bench.sh: GETs the paths listed in the file named by
-- GG_BENCH_LINKS in turn (every guest's invitation page), each guest from a client
-- address of its own in X-Forwarded-For (the benchmark's server trusts loopback as its
-- reverse proxy), as guests behind nginx would arrive. Without GG_BENCH_LINKS: "/".
local paths = {}
local counter = 0

function init(args)
    local file = os.getenv("GG_BENCH_LINKS")
    if file and file ~= "" then
        for line in io.lines(file) do
            paths[#paths + 1] = line
        end
    end
    if #paths == 0 then
        paths[1] = "/"
    end
    -- Threads start at different places in the list.
    counter = math.random(#paths)
end

function request()
    counter = counter + 1
    local i = counter % #paths
    local client = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
    return wrk.format("GET", paths[i + 1], { ["X-Forwarded-For"] = client, ["Accept"] = "text/html" })
end
