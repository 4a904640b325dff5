import ArgumentParser

/// `serve`'s options for a process pool: how many worker processes one supervisor runs.
/// Every other `serve` option is passed down to each worker process unchanged.
struct PoolOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Run this many worker processes under a supervisor, each with its own interpreter and --per-worker slots (1: one process, no supervisor).",
            valueName: "P"))
    var processes = 1

    @Option(
        help: ArgumentHelp(
            "GPUs per worker process: each gets its own in CUDA_VISIBLE_DEVICES (0: the variable is left alone).",
            valueName: "N"))
    var gpus = 0

    @Option(
        help: ArgumentHelp(
            "The GPUs to hand out with --gpus, comma-separated (default: those nvidia-smi -L lists).",
            valueName: "LIST"),
        transform: { text in text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
    var devices: [String]?

    func validate() throws {
        guard processes >= 1 else { throw ValidationError("--processes must be at least 1") }
        guard gpus >= 0 else { throw ValidationError("--gpus must not be negative") }
        if devices != nil, gpus == 0 { throw ValidationError("--devices needs --gpus") }
    }

    /// `CUDA_VISIBLE_DEVICES` for each worker process, nil without `--gpus`.
    func visibleDevices() throws(CLIError) -> [String]? {
        guard gpus > 0 else { return nil }
        return try GPUDevices.assign(processes: processes, perProcess: gpus, devices: devices)
    }

    /// The options of the supervisor's own, which its worker processes do not get, with
    /// whether each takes a value.
    static let supervisorOnly: [String: Bool] = [
        "--processes": true, "--ready-file": true, "--gpus": true, "--devices": true,
    ]
}
