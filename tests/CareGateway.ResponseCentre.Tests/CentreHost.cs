using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CareGateway.ResponseCentre.Service;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The real service (Kestrel on a free loopback port) for one test, with its settings given here.</summary>
public sealed class CentreHost : IAsyncDisposable
{
    private CentreHost(WebApplication app)
    {
        App = app;
        BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public WebApplication App { get; }

    public string BaseUrl { get; }

    public ICentreStore Store => App.Services.GetRequiredService<ICentreStore>();

    public CentreCore Core => App.Services.GetRequiredService<CentreCore>();

    public CentreEvents Events => App.Services.GetRequiredService<CentreEvents>();

    /// <summary>Starts the service on <paramref name="url"/>; with <paramref name="log"/>, its log lines go there too.</summary>
    /// <param name="services">Registered before the service's own, so that a test can put in its clock (a FakeTimeProvider) or hasher.</param>
    public static async Task<CentreHost> StartAsync(IDictionary<string, string?> settings, LogCapture? log = null, string url = "http://127.0.0.1:0", Action<IServiceCollection>? services = null)
    {
        var app = CentreApp.Build([], builder =>
        {
            services?.Invoke(builder.Services);
            if (log is not null)
            {
                builder.Logging.AddProvider(log);
            }

            builder.WebHost.UseUrls(url);
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Warning",
                ["Centre:HealthCheckSeconds"] = "1",
            });
            builder.Configuration.AddInMemoryCollection(settings);
        });
        await app.StartAsync();
        var host = new CentreHost(app);
        if (app.Services.GetService<MqttCentreLink>() is { } link)
        {
            await link.Connected.WaitAsync(TimeSpan.FromSeconds(30));
        }

        return host;
    }

    public static Dictionary<string, string?> Settings(string database, int? brokerPort, string? sharedGroup = "centre", string clientId = "centre-test") => new()
    {
        ["Centre:Database:Provider"] = "sqlite",
        ["Centre:Database:ConnectionString"] = database,
        ["Centre:Mqtt:Enabled"] = brokerPort is null ? "false" : "true",
        ["Centre:Mqtt:Port"] = brokerPort?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Centre:Mqtt:SharedGroup"] = sharedGroup ?? "",
        ["Centre:Mqtt:ClientId"] = clientId,
    };

    public Task<CentreUser> AddUserAsync(string name, string role, string password) =>
        UserCommand.CreateUserAsync(Store, name, role, password, default, App.Services.GetRequiredService<IPasswordHasher<CentreUser>>());

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
