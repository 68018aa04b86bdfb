# One batch of stream entries, as `redis-cli --no-raw XRANGE` prints it, to one line per entry:
# `<id> "<field>" "<value>" ...` (values quoted and escaped as redis-cli prints them, which is how
# redis-cli reads them back), and the ids, one a line, to the file `ids` (-v ids=FILE). An entry starts
# on a line indented less than the first line's `)`: nested lines are indented past it. Anything else
# than entries (an error, an unexpected format) exits 2, and nothing is deleted. Runs ON THE HOST, given
# to awk as its program by rollbook.host.redis.stream_emptied:
#
#     redis-cli --no-raw XRANGE s - + COUNT 2 | awk -v ids=/tmp/ids "$(cat stream_entries.awk)"
#     # 1-0 "field" "value"
#     # 2-0 "field" "other"
NR == 1 {
    w = index($0, ")")
    if ($0 !~ /^ *1\) 1\) "/) exit 2
}
{
    s = index($0, "\"")
    if (s == 0) exit 2
    value = substr($0, s)
    lead = match($0, /[^ ]/) - 1
    if (lead < w) {
        id = value
        gsub(/"/, "", id)
        if (id !~ /^[0-9]+-[0-9]+$/) exit 2
        if (line != "") print line
        print id > ids
        line = id
        next
    }
    line = line " " value
}
END { if (line != "") print line }
