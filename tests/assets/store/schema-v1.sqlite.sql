CREATE TABLE coverwatch_meta (
	"key" VARCHAR(64) NOT NULL, 
	value VARCHAR(256) NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE TABLE scans (
	id INTEGER NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	site VARCHAR(128) NOT NULL, 
	targets TEXT NOT NULL, 
	options TEXT NOT NULL, 
	hosts_found INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE devices (
	id INTEGER NOT NULL, 
	site VARCHAR(128) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	mac VARCHAR(32), 
	maker VARCHAR(128), 
	brand VARCHAR(128), 
	model VARCHAR(256), 
	firmware VARCHAR(256), 
	device_type VARCHAR(32), 
	covered VARCHAR(256), 
	confidence FLOAT NOT NULL, 
	evidence TEXT NOT NULL, 
	open_ports TEXT NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	last_scan_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_devices_site_ip UNIQUE (site, ip), 
	FOREIGN KEY(last_scan_id) REFERENCES scans (id)
);

CREATE TABLE observations (
	id INTEGER NOT NULL, 
	scan_id INTEGER NOT NULL, 
	device_id INTEGER NOT NULL, 
	port INTEGER, 
	protocol VARCHAR(32) NOT NULL, 
	signal VARCHAR(128) NOT NULL, 
	value TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	observed_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(scan_id) REFERENCES scans (id), 
	FOREIGN KEY(device_id) REFERENCES devices (id)
);

CREATE INDEX ix_observations_device_id ON observations (device_id);

CREATE INDEX ix_observations_scan_id ON observations (scan_id);
