# wait.sh - sourced by the host shell test bench_consumer_test.sh: the one
# way it waits for something.
#
#   wait_until SECONDS CMD [ARGS...]   run CMD until it succeeds; status 0 as
#                                      soon as it does, 1 once SECONDS (an
#                                      integer) have passed without success
#   wait_exit PID SECONDS              wait_until the process has exited (it
#                                      may still need reaping: `wait PID` then
#                                      gives its status at once)
#
# Tests never sleep to let something happen: they wait for the condition
# itself, with a bound, so a slow machine only makes them slower and a
# broken server makes them fail instead of hang. The polls start 10 ms
# apart (most conditions hold at once) and back off to 100 ms.

wait_until() {
    local secs=$1 pause=0.01 deadline now
    shift
    # EPOCHREALTIME (bash 5) is "seconds.micros"; compare in microseconds.
    deadline=$(( ${EPOCHREALTIME/./} + secs * 1000000 ))
    while true; do
        "$@" && return 0
        now=${EPOCHREALTIME/./}
        [ "$now" -lt "$deadline" ] || return 1
        sleep "$pause"
        case $pause in
            0.01) pause=0.02 ;;
            0.02) pause=0.05 ;;
            *) pause=0.1 ;;
        esac
    done
}

# True once PID is gone or a zombie (exited, not yet reaped by `wait`).
process_exited() {
    local state
    kill -0 "$1" 2>/dev/null || return 0
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ "$state" = Z ]
}

wait_exit() {
    wait_until "$2" process_exited "$1"
}
