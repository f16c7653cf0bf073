using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Publishes an acknowledgement to a gateway; false when the broker did not take it (it will be re-sent).</summary>
public interface IAckSender
{
    Task<bool> TrySendAsync(AckMessage ack, CancellationToken ct);
}
