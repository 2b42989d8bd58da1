# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_flameprof_global_optspecs
    string join \n f/format= o/out= list-formats keep-lines stacks= threshold= max-depth= width= row-height= font-size= title= subtitle= flame-only inverted-only no-script log-mult= labels= focus= sort= callers callees no-thread-roots r/run m/run-module python= cpu save-prof= save-stacks= no-stacks h/help V/version
end

function __fish_flameprof_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_flameprof_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_flameprof_using_subcommand
    set -l cmd (__fish_flameprof_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c flameprof -n "__fish_flameprof_needs_command" -s f -l format -d 'Output format (see --list-formats) [default: the one -o\'s extension names, else svg]' -r -f -a "json\t''
log\t''
pprof\t''
speedscope\t''
stats\t''
svg\t''
text\t''"
complete -c flameprof -n "__fish_flameprof_needs_command" -s o -l out -d 'Write to FILE (atomically: a failed run leaves any existing FILE untouched). Without -f, FILE\'s extension picks the format: .svg, .json, .speedscope.json, .pb.gz or .pprof (pprof), .txt (text), .folded, .collapsed or .log (log). Without -o, an SVG is never written to a terminal but to a file named after the input (app.prof: app.svg)' -r -F
complete -c flameprof -n "__fish_flameprof_needs_command" -l stacks -d 'Draw the stats\' stacks from FILE, the stacks recorded (or sampled) beside them that `flameprof run --save-stacks FILE` kept, as `flameprof run` draws them (the stats files named must be that run\'s, its --save-prof)' -r -F
complete -c flameprof -n "__fish_flameprof_needs_command" -l threshold -d 'Hide frames narrower than this percentage of the total time (their time is added to the parent\'s self time)' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l max-depth -d 'Do not draw frames deeper than this (0: no limit)' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l width -d 'Image width in pixels (default: fluid, the SVG fills the window)' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l row-height -d 'Height of one row of frames, in pixels' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l font-size -d 'Font size of the labels, in pixels' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l title -d 'Title drawn at the top of the image' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l subtitle -d 'Second line under the title' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l log-mult -d 'Multiplier from self seconds to the integer values of -f log' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l labels -d 'Name frames by their module (`format (json:52)`) or their file, in -f text (default: module) and -f log (default: file, flameprof 0.4\'s file:line:name)' -r -f -a "module\t''
file\t''"
complete -c flameprof -n "__fish_flameprof_needs_command" -l focus -d 'Keep only the stacks through functions whose name `file:line(function)` contains TEXT (a plain substring, case-sensitive; not a regular expression)' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l sort -d 'Sort key of -f stats, as pstats\' sort_stats takes it (calls, cumulative, cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time, tottime, or an abbreviation pstats accepts, like `file` or `tot`), or `none`: the stats dict\'s order, as pstats prints it unsorted' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l python -d 'With run, -r or -m: the Python interpreter [default: the python3 or python beside the flameprof binary (the environment pip installed it into), else $VIRTUAL_ENV/bin/python if a virtual environment is active, else python3]' -r
complete -c flameprof -n "__fish_flameprof_needs_command" -l save-prof -l pstat -d 'With run, -r or -m: also keep the profile stats in FILE (a cProfile file that flameprof, pstats or snakeviz can read later)' -r -F
complete -c flameprof -n "__fish_flameprof_needs_command" -l save-stacks -d 'With run, -r or -m: also keep the program\'s stacks, recorded beside cProfile, in FILE (its call paths; folded stacks where they were sampled), which --stacks FILE draws again with the --save-prof file' -r -F
complete -c flameprof -n "__fish_flameprof_needs_command" -l list-formats -d 'List the output formats and exit'
complete -c flameprof -n "__fish_flameprof_needs_command" -l keep-lines -d 'Sampled profiles and collapsed stacks: keep one frame per line executed, as the input keys them, instead of one per function'
complete -c flameprof -n "__fish_flameprof_needs_command" -l flame-only -d 'Draw only the flame graph (svg)'
complete -c flameprof -n "__fish_flameprof_needs_command" -l inverted-only -d 'Draw only the inverted (self time, callers beneath) graph (svg)'
complete -c flameprof -n "__fish_flameprof_needs_command" -l no-script -d 'Leave the interactive script out of the SVG (for readable golden files)'
complete -c flameprof -n "__fish_flameprof_needs_command" -l callers -d 'With -f stats: print pstats\' print_callers() view instead of the table'
complete -c flameprof -n "__fish_flameprof_needs_command" -l callees -d 'With -f stats: print pstats\' print_callees() view instead of the table'
complete -c flameprof -n "__fish_flameprof_needs_command" -l no-thread-roots -d 'Drop the process and thread frames sampling profilers put at the root of each collapsed stack (py-spy --threads, austin, CPython\'s tid:N), merging the threads'
complete -c flameprof -n "__fish_flameprof_needs_command" -s r -l run -d 'flameprof 0.4: run the first INPUT as a Python script, the other INPUTs being its arguments (use `--` before arguments that start with `-`). Same as flameprof run'
complete -c flameprof -n "__fish_flameprof_needs_command" -s m -l run-module -d 'flameprof 0.4: run the first INPUT as a Python module (python -m), the other INPUTs being its arguments. Same as flameprof run -m'
complete -c flameprof -n "__fish_flameprof_needs_command" -l cpu -d 'With run, -r or -m: measure process CPU time (time.process_time) instead of wall-clock time, so time spent waiting (I/O, sleep) does not count'
complete -c flameprof -n "__fish_flameprof_needs_command" -l no-stacks -d 'With run, -r or -m: do not record the program\'s stacks; draw from cProfile\'s stats alone, the stacks estimated as for any stats file'
complete -c flameprof -n "__fish_flameprof_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flameprof -n "__fish_flameprof_needs_command" -s V -l version -d 'Print version'
complete -c flameprof -n "__fish_flameprof_needs_command" -a "run" -d 'Profile a Python script (or -m module) and render the profile'
complete -c flameprof -n "__fish_flameprof_needs_command" -a "diff" -d 'Compare two profiles: did NEW get faster or slower than BASE, and where?'
complete -c flameprof -n "__fish_flameprof_needs_command" -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c flameprof -n "__fish_flameprof_needs_command" -a "man" -d 'Print the man page (roff), e.g. flameprof man > flameprof.1'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -s f -l format -d 'Output format (see --list-formats) [default: the one -o\'s extension names, else svg]' -r -f -a "json\t''
log\t''
pprof\t''
speedscope\t''
stats\t''
svg\t''
text\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -s o -l out -d 'Write to FILE (atomically: a failed run leaves any existing FILE untouched). Without -f, FILE\'s extension picks the format: .svg, .json, .speedscope.json, .pb.gz or .pprof (pprof), .txt (text), .folded, .collapsed or .log (log). Without -o, an SVG is never written to a terminal but to a file named after the input (app.prof: app.svg)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l stacks -d 'Draw the stats\' stacks from FILE, the stacks recorded (or sampled) beside them that `flameprof run --save-stacks FILE` kept, as `flameprof run` draws them (the stats files named must be that run\'s, its --save-prof)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l threshold -d 'Hide frames narrower than this percentage of the total time (their time is added to the parent\'s self time)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l max-depth -d 'Do not draw frames deeper than this (0: no limit)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l width -d 'Image width in pixels (default: fluid, the SVG fills the window)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l row-height -d 'Height of one row of frames, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l font-size -d 'Font size of the labels, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l title -d 'Title drawn at the top of the image' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l subtitle -d 'Second line under the title' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l log-mult -d 'Multiplier from self seconds to the integer values of -f log' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l labels -d 'Name frames by their module (`format (json:52)`) or their file, in -f text (default: module) and -f log (default: file, flameprof 0.4\'s file:line:name)' -r -f -a "module\t''
file\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l focus -d 'Keep only the stacks through functions whose name `file:line(function)` contains TEXT (a plain substring, case-sensitive; not a regular expression)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l sort -d 'Sort key of -f stats, as pstats\' sort_stats takes it (calls, cumulative, cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time, tottime, or an abbreviation pstats accepts, like `file` or `tot`), or `none`: the stats dict\'s order, as pstats prints it unsorted' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l python -d 'With run, -r or -m: the Python interpreter [default: the python3 or python beside the flameprof binary (the environment pip installed it into), else $VIRTUAL_ENV/bin/python if a virtual environment is active, else python3]' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l save-prof -l pstat -d 'With run, -r or -m: also keep the profile stats in FILE (a cProfile file that flameprof, pstats or snakeviz can read later)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l save-stacks -d 'With run, -r or -m: also keep the program\'s stacks, recorded beside cProfile, in FILE (its call paths; folded stacks where they were sampled), which --stacks FILE draws again with the --save-prof file' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -s m -l module -d 'Run TARGET as a module, like python -m (e.g. flameprof run -m pytest tests/)'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l keep-lines -d 'Sampled profiles and collapsed stacks: keep one frame per line executed, as the input keys them, instead of one per function'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l flame-only -d 'Draw only the flame graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l inverted-only -d 'Draw only the inverted (self time, callers beneath) graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l no-script -d 'Leave the interactive script out of the SVG (for readable golden files)'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l callers -d 'With -f stats: print pstats\' print_callers() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l callees -d 'With -f stats: print pstats\' print_callees() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l no-thread-roots -d 'Drop the process and thread frames sampling profilers put at the root of each collapsed stack (py-spy --threads, austin, CPython\'s tid:N), merging the threads'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l cpu -d 'With run, -r or -m: measure process CPU time (time.process_time) instead of wall-clock time, so time spent waiting (I/O, sleep) does not count'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -l no-stacks -d 'With run, -r or -m: do not record the program\'s stacks; draw from cProfile\'s stats alone, the stacks estimated as for any stats file'
complete -c flameprof -n "__fish_flameprof_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l base-also -d 'Another stats file merged into BASE (repeatable), as several inputs are merged' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l new-also -d 'Another stats file merged into NEW (repeatable)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l fail-above -d 'Exit with status 3 when NEW\'s total time exceeds BASE\'s by more than PERCENT (the raw totals, with or without --normalize)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l top -d 'Rows of each table of -f text' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -s f -l format -d 'Output format (see --list-formats) [default: the one -o\'s extension names, else svg]' -r -f -a "json\t''
log\t''
pprof\t''
speedscope\t''
stats\t''
svg\t''
text\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -s o -l out -d 'Write to FILE (atomically: a failed run leaves any existing FILE untouched). Without -f, FILE\'s extension picks the format: .svg, .json, .speedscope.json, .pb.gz or .pprof (pprof), .txt (text), .folded, .collapsed or .log (log). Without -o, an SVG is never written to a terminal but to a file named after the input (app.prof: app.svg)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l stacks -d 'Draw the stats\' stacks from FILE, the stacks recorded (or sampled) beside them that `flameprof run --save-stacks FILE` kept, as `flameprof run` draws them (the stats files named must be that run\'s, its --save-prof)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l threshold -d 'Hide frames narrower than this percentage of the total time (their time is added to the parent\'s self time)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l max-depth -d 'Do not draw frames deeper than this (0: no limit)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l width -d 'Image width in pixels (default: fluid, the SVG fills the window)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l row-height -d 'Height of one row of frames, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l font-size -d 'Font size of the labels, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l title -d 'Title drawn at the top of the image' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l subtitle -d 'Second line under the title' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l log-mult -d 'Multiplier from self seconds to the integer values of -f log' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l labels -d 'Name frames by their module (`format (json:52)`) or their file, in -f text (default: module) and -f log (default: file, flameprof 0.4\'s file:line:name)' -r -f -a "module\t''
file\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l focus -d 'Keep only the stacks through functions whose name `file:line(function)` contains TEXT (a plain substring, case-sensitive; not a regular expression)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l sort -d 'Sort key of -f stats, as pstats\' sort_stats takes it (calls, cumulative, cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time, tottime, or an abbreviation pstats accepts, like `file` or `tot`), or `none`: the stats dict\'s order, as pstats prints it unsorted' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l python -d 'With run, -r or -m: the Python interpreter [default: the python3 or python beside the flameprof binary (the environment pip installed it into), else $VIRTUAL_ENV/bin/python if a virtual environment is active, else python3]' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l save-prof -l pstat -d 'With run, -r or -m: also keep the profile stats in FILE (a cProfile file that flameprof, pstats or snakeviz can read later)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l save-stacks -d 'With run, -r or -m: also keep the program\'s stacks, recorded beside cProfile, in FILE (its call paths; folded stacks where they were sampled), which --stacks FILE draws again with the --save-prof file' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l normalize -d 'Compare each side\'s share of its own total instead of its time (in -f log, NEW\'s values are scaled to BASE\'s total). -f json is not changed'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l keep-lines -d 'Sampled profiles and collapsed stacks: keep one frame per line executed, as the input keys them, instead of one per function'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l flame-only -d 'Draw only the flame graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l inverted-only -d 'Draw only the inverted (self time, callers beneath) graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l no-script -d 'Leave the interactive script out of the SVG (for readable golden files)'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l callers -d 'With -f stats: print pstats\' print_callers() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l callees -d 'With -f stats: print pstats\' print_callees() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l no-thread-roots -d 'Drop the process and thread frames sampling profilers put at the root of each collapsed stack (py-spy --threads, austin, CPython\'s tid:N), merging the threads'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l cpu -d 'With run, -r or -m: measure process CPU time (time.process_time) instead of wall-clock time, so time spent waiting (I/O, sleep) does not count'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -l no-stacks -d 'With run, -r or -m: do not record the program\'s stacks; draw from cProfile\'s stats alone, the stacks estimated as for any stats file'
complete -c flameprof -n "__fish_flameprof_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -s f -l format -d 'Output format (see --list-formats) [default: the one -o\'s extension names, else svg]' -r -f -a "json\t''
log\t''
pprof\t''
speedscope\t''
stats\t''
svg\t''
text\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -s o -l out -d 'Write to FILE (atomically: a failed run leaves any existing FILE untouched). Without -f, FILE\'s extension picks the format: .svg, .json, .speedscope.json, .pb.gz or .pprof (pprof), .txt (text), .folded, .collapsed or .log (log). Without -o, an SVG is never written to a terminal but to a file named after the input (app.prof: app.svg)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l stacks -d 'Draw the stats\' stacks from FILE, the stacks recorded (or sampled) beside them that `flameprof run --save-stacks FILE` kept, as `flameprof run` draws them (the stats files named must be that run\'s, its --save-prof)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l threshold -d 'Hide frames narrower than this percentage of the total time (their time is added to the parent\'s self time)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l max-depth -d 'Do not draw frames deeper than this (0: no limit)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l width -d 'Image width in pixels (default: fluid, the SVG fills the window)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l row-height -d 'Height of one row of frames, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l font-size -d 'Font size of the labels, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l title -d 'Title drawn at the top of the image' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l subtitle -d 'Second line under the title' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l log-mult -d 'Multiplier from self seconds to the integer values of -f log' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l labels -d 'Name frames by their module (`format (json:52)`) or their file, in -f text (default: module) and -f log (default: file, flameprof 0.4\'s file:line:name)' -r -f -a "module\t''
file\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l focus -d 'Keep only the stacks through functions whose name `file:line(function)` contains TEXT (a plain substring, case-sensitive; not a regular expression)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l sort -d 'Sort key of -f stats, as pstats\' sort_stats takes it (calls, cumulative, cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time, tottime, or an abbreviation pstats accepts, like `file` or `tot`), or `none`: the stats dict\'s order, as pstats prints it unsorted' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l python -d 'With run, -r or -m: the Python interpreter [default: the python3 or python beside the flameprof binary (the environment pip installed it into), else $VIRTUAL_ENV/bin/python if a virtual environment is active, else python3]' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l save-prof -l pstat -d 'With run, -r or -m: also keep the profile stats in FILE (a cProfile file that flameprof, pstats or snakeviz can read later)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l save-stacks -d 'With run, -r or -m: also keep the program\'s stacks, recorded beside cProfile, in FILE (its call paths; folded stacks where they were sampled), which --stacks FILE draws again with the --save-prof file' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l keep-lines -d 'Sampled profiles and collapsed stacks: keep one frame per line executed, as the input keys them, instead of one per function'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l flame-only -d 'Draw only the flame graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l inverted-only -d 'Draw only the inverted (self time, callers beneath) graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l no-script -d 'Leave the interactive script out of the SVG (for readable golden files)'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l callers -d 'With -f stats: print pstats\' print_callers() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l callees -d 'With -f stats: print pstats\' print_callees() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l no-thread-roots -d 'Drop the process and thread frames sampling profilers put at the root of each collapsed stack (py-spy --threads, austin, CPython\'s tid:N), merging the threads'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l cpu -d 'With run, -r or -m: measure process CPU time (time.process_time) instead of wall-clock time, so time spent waiting (I/O, sleep) does not count'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -l no-stacks -d 'With run, -r or -m: do not record the program\'s stacks; draw from cProfile\'s stats alone, the stacks estimated as for any stats file'
complete -c flameprof -n "__fish_flameprof_using_subcommand completions" -s h -l help -d 'Print help'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -s f -l format -d 'Output format (see --list-formats) [default: the one -o\'s extension names, else svg]' -r -f -a "json\t''
log\t''
pprof\t''
speedscope\t''
stats\t''
svg\t''
text\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -s o -l out -d 'Write to FILE (atomically: a failed run leaves any existing FILE untouched). Without -f, FILE\'s extension picks the format: .svg, .json, .speedscope.json, .pb.gz or .pprof (pprof), .txt (text), .folded, .collapsed or .log (log). Without -o, an SVG is never written to a terminal but to a file named after the input (app.prof: app.svg)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l stacks -d 'Draw the stats\' stacks from FILE, the stacks recorded (or sampled) beside them that `flameprof run --save-stacks FILE` kept, as `flameprof run` draws them (the stats files named must be that run\'s, its --save-prof)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l threshold -d 'Hide frames narrower than this percentage of the total time (their time is added to the parent\'s self time)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l max-depth -d 'Do not draw frames deeper than this (0: no limit)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l width -d 'Image width in pixels (default: fluid, the SVG fills the window)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l row-height -d 'Height of one row of frames, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l font-size -d 'Font size of the labels, in pixels' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l title -d 'Title drawn at the top of the image' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l subtitle -d 'Second line under the title' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l log-mult -d 'Multiplier from self seconds to the integer values of -f log' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l labels -d 'Name frames by their module (`format (json:52)`) or their file, in -f text (default: module) and -f log (default: file, flameprof 0.4\'s file:line:name)' -r -f -a "module\t''
file\t''"
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l focus -d 'Keep only the stacks through functions whose name `file:line(function)` contains TEXT (a plain substring, case-sensitive; not a regular expression)' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l sort -d 'Sort key of -f stats, as pstats\' sort_stats takes it (calls, cumulative, cumtime, filename, line, module, name, ncalls, nfl, pcalls, stdname, time, tottime, or an abbreviation pstats accepts, like `file` or `tot`), or `none`: the stats dict\'s order, as pstats prints it unsorted' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l python -d 'With run, -r or -m: the Python interpreter [default: the python3 or python beside the flameprof binary (the environment pip installed it into), else $VIRTUAL_ENV/bin/python if a virtual environment is active, else python3]' -r
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l save-prof -l pstat -d 'With run, -r or -m: also keep the profile stats in FILE (a cProfile file that flameprof, pstats or snakeviz can read later)' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l save-stacks -d 'With run, -r or -m: also keep the program\'s stacks, recorded beside cProfile, in FILE (its call paths; folded stacks where they were sampled), which --stacks FILE draws again with the --save-prof file' -r -F
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l keep-lines -d 'Sampled profiles and collapsed stacks: keep one frame per line executed, as the input keys them, instead of one per function'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l flame-only -d 'Draw only the flame graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l inverted-only -d 'Draw only the inverted (self time, callers beneath) graph (svg)'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l no-script -d 'Leave the interactive script out of the SVG (for readable golden files)'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l callers -d 'With -f stats: print pstats\' print_callers() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l callees -d 'With -f stats: print pstats\' print_callees() view instead of the table'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l no-thread-roots -d 'Drop the process and thread frames sampling profilers put at the root of each collapsed stack (py-spy --threads, austin, CPython\'s tid:N), merging the threads'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l cpu -d 'With run, -r or -m: measure process CPU time (time.process_time) instead of wall-clock time, so time spent waiting (I/O, sleep) does not count'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -l no-stacks -d 'With run, -r or -m: do not record the program\'s stacks; draw from cProfile\'s stats alone, the stacks estimated as for any stats file'
complete -c flameprof -n "__fish_flameprof_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
