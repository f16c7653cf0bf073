using CareGateway.IntegrationTests;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The whole service configured for PostgreSQL by connection string, against Mosquitto and a gateway's uplink.</summary>
[Collection(PostgresGroup.Name)]
public sealed class PostgresReceptionTests(PostgresServer server)
{
    [Fact]
    public async Task The_service_on_postgresql_stores_an_alarm_once_and_answers_received_then_accepted()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var settings = CentreHost.Settings("unused", broker.Port);
        settings["Centre:Database:Provider"] = "postgres";
        settings["Centre:Database:ConnectionString"] = await server.CreateDatabaseAsync();
        await using var centre = await CentreHost.StartAsync(settings);
        Assert.IsType<PostgresCentreStore>(centre.Store);
        await using var gateway = new Gateway("gw-pg-1", broker.Port, dir.File("outbox.db"));

        var id = await gateway.RaiseAsync(AlarmType.Smoke, "kitchen");
        await gateway.WaitForAckAsync(id, AckState.Received);
        var kari = await centre.AddUserAsync("kari", Roles.Operator, "correct horse battery");
        await centre.Core.AcceptAsync(new AlarmKey(gateway.Id, id), kari, default);
        await gateway.WaitForAckAsync(id, AckState.Accepted);

        var stored = await centre.Store.GetAlarmAsync(new AlarmKey(gateway.Id, id), default);
        Assert.Equal((AlarmType.Smoke, "kitchen", HandlingStatus.Accepted, 1), (stored!.Type, stored.Room, stored.Status, stored.Copies));
        Assert.Equal(AckState.Accepted, gateway.Outbox.Find(id)!.Ack);
        Assert.Equal([AckState.Received, AckState.Accepted], (await centre.Store.AcksAsync(new AlarmKey(gateway.Id, id), default)).Select(a => a.State));
    }

    [Fact]
    public async Task Alarms_from_several_gateways_at_once_are_each_stored_once_on_postgresql()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var settings = CentreHost.Settings("unused", broker.Port);
        settings["Centre:Database:Provider"] = "postgres";
        settings["Centre:Database:ConnectionString"] = await server.CreateDatabaseAsync();
        await using var centre = await CentreHost.StartAsync(settings);
        await ReceptionTests.ConcurrentGatewaysAsync(centre, broker.Port, dir);
    }
}
