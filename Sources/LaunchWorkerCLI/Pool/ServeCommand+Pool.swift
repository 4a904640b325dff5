import Foundation

extension ServeCommand {
    /// The pool `serve --processes P` runs: P workers with this command line.
    var poolPlan: PoolSupervisor.Plan {
        var plan = PoolSupervisor.Plan(processes: pool.processes, arguments: CommandLine.arguments)
        plan.listen = httpOptions.listen
        plan.readyFile = readyFile.map { URL(filePath: $0) }
        plan.exitWhenEmpty = queueOptions.exitWhenEmpty
        return plan
    }
}
