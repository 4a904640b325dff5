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
    var queue: String

    @Argument(help: "The task id that submit printed.")
    var taskID: String

    func validate() throws {
        _ = try QueueAddress.parse(queue)
    }

    func run() throws {
        guard SpoolLayout.isValidTaskID(taskID) else {
            throw CLIError(
                message: """
                    "\(taskID)" is not a task id: task ids are 1 to 200 characters of A-Z a-z 0-9 . _ -, not \
                    starting with '.'. A file in incoming/ whose name is not <task_id>.json is not a task: a \
                    worker moves it to dead/ as misnamed-... with a FAILURE response naming it \
                    (docs/spool-protocol.md)
                    """, status: 2)
        }
        let producer: SpoolProducer
        do {
            producer = try SpoolProducer(layout: QueueAddress.parse(queue).spool)
        } catch {
            throw CLIError(message: "\(error)")
        }
        FileHandle.standardOutput.write(producer.status(of: taskID).jsonData() + Data("\n".utf8))
    }
}
