import ArgumentParser
import Foundation
import SpoolQueue

/// `launch-worker status`: a task's state, or its response once it has one.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a spool task's response, or its state: PENDING, STARTED or UNDEFINED.",
        discussion: "Like Launch's get_async_response: SUCCESS and FAILURE come with the whole response."
    )

    @Option(help: ArgumentHelp("The spool: spool:DIR.", valueName: "spool:DIR"))
    var queue: QueueAddress

    @Argument(help: "The task id that submit printed.")
    var taskID: String

    func run() throws {
        let producer: SpoolProducer
        do {
            producer = try SpoolProducer(layout: queue.spool)
        } catch {
            throw CLIError(message: error.description)
        }
        FileHandle.standardOutput.write(producer.status(of: taskID).jsonData() + Data("\n".utf8))
    }
}
