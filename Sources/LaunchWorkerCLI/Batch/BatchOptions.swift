import ArgumentParser

/// How `batch` runs its inputs: slots, timeout, pickles, when to stop, starting over.
struct BatchOptions: ParsableArguments {
    @Option(help: "How many inputs run at once (Launch's per_worker), each on its own Python thread.")
    var perWorker = 1

    @Option(
        help: ArgumentHelp(
            "Run the inputs in this many worker processes, each with its own interpreter and --per-worker slots; "
                + "this process reads the input and writes the output folder."))
    var processes = 1

    @Option(help: .private) var batchWorkerIndex: Int?

    @Option(help: ArgumentHelp("Interrupt an input running longer, answering FAILURE.", valueName: "SECONDS"))
    var taskTimeout: Double?

    @Flag(help: "Store each output with cloudpickle under DIR/results/ and answer with its file:// URL.")
    var returnPickled = false

    @Option(help: ArgumentHelp("Stop taking inputs once N have failed (exit 1).", valueName: "N"))
    var maxFailures: Int?

    @Flag(help: "Remove what an earlier batch left in the output folder and start over.")
    var restart = false

    @Option(
        help: ArgumentHelp(
            "After SIGINT or SIGTERM, how long inputs in flight may finish before the batch exits (130).",
            valueName: "SECONDS"))
    var drainTimeout: Double = 30

    @Option(
        help: ArgumentHelp(
            "Where stderr is not a terminal, how often a progress line is written (a terminal gets a bar).",
            valueName: "SECONDS"))
    var progressInterval: Double = 10

    func validate() throws {
        guard perWorker >= 1 else { throw ValidationError("--per-worker must be at least 1") }
        guard processes >= 1 else { throw ValidationError("--processes must be at least 1") }
        guard (taskTimeout ?? 1) > 0, progressInterval > 0, drainTimeout >= 0 else {
            throw ValidationError(
                "--task-timeout and --progress-interval must be positive, --drain-timeout not negative")
        }
        guard (maxFailures ?? 1) >= 1 else { throw ValidationError("--max-failures must be at least 1") }
    }
}
