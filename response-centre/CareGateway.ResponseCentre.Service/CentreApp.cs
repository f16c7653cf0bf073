using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Vkp;
using CareGateway.ResponseCentre.Service.Web;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CareGateway.ResponseCentre.Service;

/// <summary>Builds the service: storage, MQTT link, health monitor and the operator console.</summary>
public static class CentreApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        var settings = builder.Configuration.GetSection("Centre").Get<CentreSettings>() ?? new CentreSettings();
        builder.Services.AddSingleton(settings);
        builder.Services.TryAddSingleton(TimeProvider.System); // tests put a fake clock first
        // Created by the container, so that it is disposed with it (the PostgreSQL data source holds connections).
        builder.Services.AddSingleton<ICentreStore>(_ => CreateStore(settings.Database));
        builder.Services.AddSingleton<CentreEvents>();
        builder.Services.AddSingleton<CentreCore>();
        builder.Services.AddSingleton<Homes.HomeRecords>();
        builder.Services.AddSingleton<GatewayCommands>();
        if (settings.Mqtt.Enabled)
        {
            builder.Services.AddSingleton<MqttCentreLink>();
            builder.Services.AddSingleton<IAckSender>(sp => sp.GetRequiredService<MqttCentreLink>());
            builder.Services.AddSingleton<ICommandSender>(sp => sp.GetRequiredService<MqttCentreLink>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<MqttCentreLink>());
        }
        else
        {
            builder.Services.AddSingleton<IAckSender, NoBroker>();
            builder.Services.AddSingleton<ICommandSender, NoBroker>();
        }

        builder.Services.AddHostedService<HealthMonitor>();
        builder.Services.AddSingleton<RetentionJob>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionJob>());
        if (settings.VkpSender.Enabled)
        {
            // Checked before anything starts: a sender that cannot work says so now, not at the first closed alarm.
            if (settings.VkpSender.Problems() is { Count: > 0 } problems)
            {
                throw new InvalidOperationException("The VKP sender is enabled but not ready:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  " + p)));
            }

            ClientAssertion.Load(settings.VkpSender.PrivateKeyPath!, settings.VkpSender.Algorithm).Dispose();
            builder.Services.AddSingleton<VkpSender>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<VkpSender>());
        }

        var keyRing = KeyRing.Configure(builder.Services, settings);
        Transport.AddTransport(builder.Services, settings.Web);
        ConsoleEndpoints.AddConsole(builder.Services);

        var app = builder.Build();
        app.Services.GetRequiredService<ICentreStore>().MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        keyRing.LogAtStart(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CareGateway.ResponseCentre.KeyRing"));
        ConsoleEndpoints.MapConsole(app);
        return app;
    }

    /// <summary>The service's own folder in the user's local data folder (the default place of the database and the keys).</summary>
    public static string DefaultDataFolder =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "care-gateway");

    public static ICentreStore CreateStore(DatabaseSettings db) => db.Provider.ToLowerInvariant() switch
    {
        "sqlite" => string.IsNullOrWhiteSpace(db.ConnectionString)
            ? SqliteCentreStore.ForFile(Path.Combine(DefaultDataFolder, "response-centre.db"))
            : db.ConnectionString.Contains('=', StringComparison.Ordinal) ? new SqliteCentreStore(db.ConnectionString) : SqliteCentreStore.ForFile(db.ConnectionString),
        "postgres" or "postgresql" => new PostgresCentreStore(db.ConnectionString
            ?? throw new InvalidOperationException("Centre:Database:ConnectionString: PostgreSQL needs a connection string (Host=...;Database=...;Username=...)")),
        _ => throw new InvalidOperationException($"Centre:Database:Provider: '{db.Provider}' is not known; use sqlite or postgres"),
    };

    /// <summary>Acknowledgements and commands wait in the store when the service runs without a broker.</summary>
    private sealed class NoBroker : IAckSender, ICommandSender
    {
        public Task<bool> TrySendAsync(CareGateway.Protocol.AckMessage ack, CancellationToken ct) => Task.FromResult(false);

        public Task<bool> TrySendCommandAsync(string gatewayId, byte[] payload, CancellationToken ct) => Task.FromResult(false);
    }
}
