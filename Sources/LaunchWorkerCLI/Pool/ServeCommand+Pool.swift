import Foundation

extension ServeCommand {
    /// The pool `serve --processes P` runs: P workers with this command line, each with its own
    /// GPUs.
    func poolPlan() throws(CLIError) -> PoolSupervisor.Plan {
        var plan = PoolSupervisor.Plan(processes: pool.processes, arguments: CommandLine.arguments)
        plan.listen = httpOptions.listen
        plan.readyFile = readyFile.map { URL(filePath: $0) }
        plan.exitWhenEmpty = queueOptions.exitWhenEmpty
        if let devices = try pool.visibleDevices() {
            plan.environment = { ["CUDA_VISIBLE_DEVICES": devices[$0]] }
        }
        return plan
    }

    /// A single worker's GPUs (`--gpus` without a pool): set before Python starts, so CUDA sees
    /// only them.
    func useGPUsAlone() throws(CLIError) {
        guard let devices = try pool.visibleDevices() else { return }
        setenv("CUDA_VISIBLE_DEVICES", devices[0], 1)
    }
}
