import ArgumentParser
import BundleArchive

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

    @Option(
        help: ArgumentHelp(
            "Replace a worker process after it ran this many tasks (its replacement ready first).", valueName: "N"))
    var maxTasksPerProcess: Int?

    @Option(
        help: ArgumentHelp(
            "Replace a worker process once its resident memory is over this (e.g. 4GiB; its replacement ready first).",
            valueName: "SIZE"),
        transform: { text in
            guard let bytes = ByteCount.parse(text), bytes > 0 else {
                throw ValidationError("--max-rss-per-process \(text): expected a size such as 512MiB or 4GiB")
            }
            return bytes
        })
    var maxRssPerProcess: UInt64?

    func validate() throws {
        guard processes >= 1 else { throw ValidationError("--processes must be at least 1") }
        guard (maxTasksPerProcess ?? 1) >= 1 else {
            throw ValidationError("--max-tasks-per-process must be at least 1")
        }
        if processes == 1, maxTasksPerProcess != nil || maxRssPerProcess != nil {
            throw ValidationError("--max-tasks-per-process and --max-rss-per-process need --processes 2 or more")
        }
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
        "--processes": true, "--ready-file": true, "--gpus": true, "--devices": true, "--max-tasks-per-process": true,
        "--max-rss-per-process": true,
    ]
}
