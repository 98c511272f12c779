"""Network probes: ``transport`` owns every socket; the other modules turn bytes into facts."""
