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

    @Option(
        help: ArgumentHelp("A file holding the Redis password (instead of the URL's user-info).", valueName: "FILE"))
    var redisPasswordFile: String?

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
            let endpoint = try RedisOptions.endpoint(redis, passwordFile: redisPasswordFile)
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
