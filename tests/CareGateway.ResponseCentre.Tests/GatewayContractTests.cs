using CareGateway.IntegrationTests;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// What a gateway's uplink expects of the centre beyond alarms (docs/protocol.md): an answer to every heartbeat, so it
/// knows somebody listens behind the broker, and test alarms closed by the centre itself.
/// </summary>
public sealed class GatewayContractTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_service_answers_a_gateway_heartbeat_so_the_gateway_knows_the_centre_is_listening()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        var answered = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var gateway = new Gateway("gw-hb-1", broker.Port, dir.File("outbox.db"), heartbeatInterval: TimeSpan.FromSeconds(1));
        gateway.Uplink.HeartbeatAnswered += roundTrip => answered.TrySetResult(roundTrip);

        var roundTrip = await answered.Task.WaitAsync(Bound);

        Assert.True(roundTrip >= TimeSpan.Zero);
        Assert.NotNull((await centre.Store.GetGatewayAsync("gw-hb-1", default))!.LastHeartbeatAt);
    }

    [Fact]
    public async Task A_test_alarm_is_closed_by_the_centre_itself_and_never_waits_for_an_operator()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        await using var gateway = new Gateway("gw-test-1", broker.Port, dir.File("outbox.db"));

        var id = await gateway.RaiseAsync(AlarmType.Test);
        await gateway.WaitForAckAsync(id, AckState.Closed);

        Assert.Equal(AckState.Closed, gateway.Outbox.Find(id)!.Ack);
        var stored = await centre.Store.GetAlarmAsync(new AlarmKey(gateway.Id, id), default);
        Assert.Equal(HandlingStatus.Closed, stored!.Status);
        lock (gateway.Acks)
        {
            Assert.Contains(gateway.Acks, a => a.AlarmId == id && a.State == AckState.Closed && a.By == "centre");
        }
    }
}
