# Sourced by the sandbox's interactive bash (as its --rcfile). It makes the shell report,
# through invisible OSC escape sequences that termagent strips before the screen sees them:
#   OSC 133;C  a command line was read and starts running (PS0)
#   OSC 133;D  the command finished: exit status, and whether more typed-ahead lines wait
#   OSC 7      the working directory
#   OSC 133;B  the prompt is fully drawn: the shell waits for input
# Every mark carries the session's token so that output that merely contains such a
# sequence cannot pass for the shell's own.
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
[ -f ~/.bashrc ] && . ~/.bashrc
__ta_token=$TERMAGENT_MARK_TOKEN
unset TERMAGENT_MARK_TOKEN
HISTFILE=
__ta_prompt_command() {
    local status=$? pending=0
    # `read -t 0` succeeds when a whole typed-ahead line is waiting: the next command will
    # start at once, so the shell is not idle yet.
    read -t 0 && pending=1
    printf '\e]133;D;%s;%s;%s\a\e]7;%s;%s\a' "$__ta_token" "$status" "$pending" "$__ta_token" "$PWD"
}
PROMPT_COMMAND=__ta_prompt_command
PS0='\e]133;C;'"$__ta_token"'\a'
PS1='\u@\h:\w\$ \[\e]133;B;'"$__ta_token"'\a\]'
printf '\e]133;P;%s;%s\a' "$__ta_token" "$$"
