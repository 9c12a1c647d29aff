# Run inside the sandbox with the shell's pid as $1. Prints the foreground process group of
# the shell's terminal, the shell's own process group, where the shell sleeps in the kernel
# (do_wait: waiting for a child), and the foreground program's name: the last child of the
# shell in that group (in `seq 9 | less` that is less; the group's leader, seq, may already be
# gone).
shell_pid=$1
set -- $(cat /proc/"$shell_pid"/stat)
shell_group=$5 foreground_group=$8 name=
wchan=$(cat /proc/"$shell_pid"/wchan 2>/dev/null)
for child in $(cat /proc/"$shell_pid"/task/"$shell_pid"/children 2>/dev/null); do
    set -- $(cat /proc/"$child"/stat 2>/dev/null)
    [ "$5" = "$foreground_group" ] && name=$(cat /proc/"$child"/comm 2>/dev/null)
done
[ -n "$name" ] || name=$(cat /proc/"$foreground_group"/comm 2>/dev/null)
echo "$foreground_group $shell_group ${wchan:-0} $name"
