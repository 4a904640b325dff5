/// The command line of a pool's worker process: the supervisor's own, less the options only the
/// supervisor uses (``PoolOptions/supervisorOnly``), with the worker's own ready file and
/// `--exit-on-stuck`: a worker process with a task stuck in code that cannot be interrupted exits
/// (status 3), its task returns to its queue with the attempt counted, and the supervisor starts
/// a fresh process in its place, while the others serve on.
enum WorkerArguments {
    /// `arguments` (the supervisor's, program name first) for the worker whose ready file is
    /// `readyFile`.
    static func make(from arguments: [String], readyFile: String) -> [String] {
        var kept: [String] = []
        var skipValue = false
        for argument in arguments {
            if skipValue {
                skipValue = false
                continue
            }
            let name = String(argument.prefix { $0 != "=" })
            guard let takesValue = PoolOptions.supervisorOnly[name] else {
                kept.append(argument)
                continue
            }
            // `--option value` drops the next argument too; `--option=value` is one.
            skipValue = takesValue && name == argument
        }
        let exitOnStuck = kept.contains("--exit-on-stuck") ? [] : ["--exit-on-stuck"]
        return kept + exitOnStuck + ["--ready-file", readyFile]
    }
}
