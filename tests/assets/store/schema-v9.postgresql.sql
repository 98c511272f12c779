CREATE TABLE coverwatch_meta (
	key VARCHAR(64) NOT NULL, 
	value VARCHAR(256) NOT NULL, 
	PRIMARY KEY (key)
);

CREATE TABLE ingest_parts (
	run_key VARCHAR(64) NOT NULL, 
	part INTEGER NOT NULL, 
	parts INTEGER NOT NULL, 
	site VARCHAR(128) NOT NULL, 
	body TEXT NOT NULL, 
	received_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (run_key, part)
);

CREATE TABLE scans (
	id SERIAL NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	site VARCHAR(128) NOT NULL, 
	targets TEXT NOT NULL, 
	options TEXT NOT NULL, 
	hosts_found INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE tokens (
	id SERIAL NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	revoked BOOLEAN NOT NULL, 
	sites TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (token_hash)
);

CREATE TABLE waivers (
	id SERIAL NOT NULL, 
	rule VARCHAR(128) NOT NULL, 
	device VARCHAR(64) NOT NULL, 
	site VARCHAR(128), 
	reason TEXT NOT NULL, 
	approver VARCHAR(256) NOT NULL, 
	expires DATE NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	author VARCHAR(128), 
	revoked_at TIMESTAMP WITH TIME ZONE, 
	revoked_by VARCHAR(128), 
	PRIMARY KEY (id)
);

CREATE TABLE audits (
	id SERIAL NOT NULL, 
	at TIMESTAMP WITH TIME ZONE NOT NULL, 
	site VARCHAR(128), 
	policy_name VARCHAR(256) NOT NULL, 
	policy_version VARCHAR(128) NOT NULL, 
	policy_source TEXT NOT NULL, 
	scan_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(scan_id) REFERENCES scans (id)
);

CREATE TABLE devices (
	id SERIAL NOT NULL, 
	site VARCHAR(128) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	mac VARCHAR(32), 
	maker VARCHAR(128), 
	brand VARCHAR(128), 
	model VARCHAR(256), 
	firmware VARCHAR(256), 
	device_type VARCHAR(32), 
	covered VARCHAR(256), 
	covered_component VARCHAR(256), 
	confidence FLOAT NOT NULL, 
	evidence TEXT NOT NULL, 
	open_ports TEXT NOT NULL, 
	first_seen TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_seen TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_scan_id INTEGER, 
	serial VARCHAR(128), 
	sources TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(last_scan_id) REFERENCES scans (id)
);

CREATE INDEX ix_devices_serial ON devices (serial);

CREATE INDEX ix_devices_site_ip ON devices (site, ip);

CREATE INDEX ix_devices_site_mac ON devices (site, mac);

CREATE TABLE ingests (
	batch_key VARCHAR(64) NOT NULL, 
	run_id INTEGER NOT NULL, 
	site VARCHAR(128) NOT NULL, 
	sensor VARCHAR(128) NOT NULL, 
	received_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (batch_key), 
	FOREIGN KEY(run_id) REFERENCES scans (id)
);

CREATE TABLE addresses (
	id SERIAL NOT NULL, 
	device_id INTEGER NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	first_seen TIMESTAMP WITH TIME ZONE NOT NULL, 
	last_seen TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_addresses_device_ip UNIQUE (device_id, ip), 
	FOREIGN KEY(device_id) REFERENCES devices (id)
);

CREATE TABLE findings (
	id SERIAL NOT NULL, 
	audit_id INTEGER NOT NULL, 
	site VARCHAR(128) NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	document TEXT NOT NULL, 
	rule VARCHAR(128) NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(audit_id) REFERENCES audits (id)
);

CREATE INDEX ix_findings_audit_id ON findings (audit_id);

CREATE TABLE observations (
	id SERIAL NOT NULL, 
	scan_id INTEGER NOT NULL, 
	device_id INTEGER NOT NULL, 
	ip VARCHAR(64), 
	port INTEGER, 
	protocol VARCHAR(32) NOT NULL, 
	signal VARCHAR(128) NOT NULL, 
	value TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	observed_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	FOREIGN KEY(scan_id) REFERENCES scans (id), 
	FOREIGN KEY(device_id) REFERENCES devices (id)
);

CREATE INDEX ix_observations_device_id ON observations (device_id);

CREATE INDEX ix_observations_scan_id ON observations (scan_id);

CREATE TABLE sightings (
	id SERIAL NOT NULL, 
	scan_id INTEGER NOT NULL, 
	device_id INTEGER NOT NULL, 
	ip VARCHAR(64), 
	maker VARCHAR(128), 
	brand VARCHAR(128), 
	model VARCHAR(256), 
	firmware VARCHAR(256), 
	device_type VARCHAR(32), 
	covered VARCHAR(256), 
	covered_component VARCHAR(256), 
	confidence FLOAT NOT NULL, 
	evidence TEXT NOT NULL, 
	open_ports TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(scan_id) REFERENCES scans (id), 
	FOREIGN KEY(device_id) REFERENCES devices (id)
);

CREATE INDEX ix_sightings_device_id ON sightings (device_id);

CREATE INDEX ix_sightings_scan_id ON sightings (scan_id);
