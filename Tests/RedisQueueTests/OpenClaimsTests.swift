import Testing

@testable import RedisQueue

/// The claim calls a worker has open, as reconciling sees them.
struct OpenClaimsTests {
    @Test func aCallIsOpenUntilEveryCallWithItsTimeIsDone() {
        var claims = OpenClaims()
        claims.open("1.5")
        claims.open("1.5")
        claims.open("2.5")
        var reconcile = [claims.close("1.5")]
        #expect(claims.contains("1.5"))
        reconcile.append(claims.close("1.5"))
        #expect(!claims.contains("1.5"))
        #expect(claims.contains("2.5"))
        reconcile.append(claims.close("3.5"))
        #expect(reconcile == [false, false, false])
    }

    @Test func aFailureCountedWhileACallIsOpenAsksForReconcilingWhenItIsDone() {
        var claims = OpenClaims()
        claims.open("1.5")
        claims.markOpen()
        claims.open("2.5")
        var reconcile = [claims.close("2.5"), claims.close("1.5")]
        // Marks are not kept for calls opened later with the same time.
        claims.open("1.5")
        reconcile.append(claims.close("1.5"))
        #expect(reconcile == [false, true, false])
    }
}
