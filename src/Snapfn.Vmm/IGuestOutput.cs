namespace Snapfn.Vmm;

/// <summary>Receives what a guest writes (its stdout, stderr and LOG hypercalls) as raw bytes, on the vCPU's thread.
/// The bytes are the guest's choice: a receiver bounds what it keeps and never trusts them to be text.</summary>
public interface IGuestOutput
{
    void Write(GuestOutputKind stream, ReadOnlySpan<byte> bytes);
}
