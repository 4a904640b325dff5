import Foundation
import Testing

@testable import Gateway

@Suite("EndpointSettings")
struct EndpointSettingsTests {
    private func settings(_ body: [String: Any]) throws -> EndpointSettings {
        var settings = EndpointSettings()
        try settings.apply(body)
        return settings
    }

    @Test("the client's defaults, then only the fields given")
    func appliesGivenFields() throws {
        var settings = try settings(["min_workers": 2, "max_workers": 4, "per_worker": 3, "cpus": 0.5])
        #expect(settings.minWorkers == 2 && settings.maxWorkers == 4 && settings.perWorker == 3 && settings.cpus == 0.5)
        try settings.apply(["per_worker": 5])
        #expect(settings.minWorkers == 2 && settings.maxWorkers == 4 && settings.perWorker == 5)
    }

    @Test("Launch's rules: min <= max <= 250, per_worker > 0, sync endpoints keep a worker")
    func validation() throws {
        try settings(["min_workers": 0, "max_workers": 3]).validate(for: .async)
        try settings(["min_workers": 1, "max_workers": 250]).validate(for: .sync)
        for (body, kind) in [
            (["min_workers": 3, "max_workers": 1], EndpointRecord.Kind.async),
            (["min_workers": 0, "max_workers": 1], .sync),
            (["per_worker": 0], .sync),
            (["max_workers": 251], .async),
            (["min_workers": -1], .async),
        ] as [([String: Any], EndpointRecord.Kind)] {
            #expect(throws: GatewayRefusal.self, "\(body)") { try settings(body).validate(for: kind) }
        }
    }

    @Test("a field of the wrong type is refused, naming it")
    func wrongTypes() throws {
        for body in [["min_workers": "2"], ["per_worker": 1.5], ["max_workers": true], ["cpus": "3"]] as [[String: Any]]
        {
            #expect(throws: GatewayRefusal.self, "\(body)") { try settings(body) }
        }
    }
}
