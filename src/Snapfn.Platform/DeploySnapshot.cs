using Snapfn.Platform.Errors;

namespace Snapfn.Platform;

/// <summary>What a deploy did about the function's snapshot: taken, not asked for, or not possible and why.</summary>
/// <param name="Taken">The snapshot taken right after the function was stored; null when none was.</param>
/// <param name="Failure">Why none could be taken (no KVM on this host, init() failed, ...), with its remedy; null when
/// one was taken or none was asked for.</param>
public sealed record DeploySnapshotOutcome(SnapshotOutcome? Taken, ClassifiedError? Failure);

/// <summary>
/// Deploy takes the snapshot (issue 21: no manual steps): `snapfn deploy` and POST /functions store the function, then
/// snapshot it, unless asked not to (`--no-snapshot`, <c>?snapshot=false</c>). A deploy is the storing of the code:
/// once stored, the function is deployed, whatever happens to its snapshot. A snapshot that cannot be taken — no
/// usable KVM on this host, an init() that raises, a full memory budget — is reported beside the deploy with its
/// reason and remedy (take it later with `snapfn snapshot`), never turned into a failed deploy that left the code
/// stored anyway. Cancellation (the client went away before the snapshot started) is not a failure to report: it
/// propagates; a snapshot under way is finished.
/// </summary>
public static class DeploySnapshot
{
    /// <summary>The time a deploy's snapshot may take (boot, init(), writing the memory file).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(300);

    public static DeploySnapshotOutcome Take(FunctionService service, string name, TimeSpan timeout, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        cancel.ThrowIfCancellationRequested();
        try
        {
            return new DeploySnapshotOutcome(service.TakeSnapshot(name, null, timeout), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var error = ErrorClassifier.Classify(e);
            return new DeploySnapshotOutcome(null, error with
            {
                Message = $"deployed, but no snapshot was taken ({error.Message})",
                Remedy = error.Remedy ?? ErrorRemedy.TakeSnapshot(name),
            });
        }
    }
}
