import ArgumentParser
import BatchJobs
import RedisQueue

/// `batch`'s options for running the inputs through a queue that workers elsewhere serve.
struct BatchQueueOptions: ParsableArguments {
    @Option(
        name: .customLong("queue"),
        help: ArgumentHelp(
            "Submit the inputs as tasks to this queue (spool:DIR or redis://HOST:PORT/DB?queue=NAME) and collect "
                + "what its workers answer.", valueName: "ADDRESS"))
    var queueText: String?

    /// The queue `--queue` names.
    var queue: QueueAddress? { QueueAddress(checked: queueText) }

    @OptionGroup var secretFiles: RedisSecretFiles

    func validate() throws {
        if let queueText { _ = try QueueAddress.parse(queueText) }
    }

    /// The queue at `address`, its backend reached now.
    ///
    /// - Throws: ``CLIError`` when it cannot be used.
    func open(_ address: QueueAddress) async throws(CLIError) -> any BatchQueue {
        switch address {
        case .spool(let layout):
            return try SpoolBatchQueue(layout)
        case .redis(let redis):
            let endpoint = try secretFiles.endpoint(redis)
            let client = RedisClient(endpoint: endpoint)
            do {
                _ = try await client.run(RedisCommand("PING"))
            } catch {
                throw CLIError(message: "cannot use the Redis broker at \(endpoint): \(error)")
            }
            return RedisBatchQueue(client: client, queue: redis.queue)
        }
    }
}
